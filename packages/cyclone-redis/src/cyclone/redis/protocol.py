"""txredisapi's protocol classes under the name old cyclone used for them.

    from cyclone.redis.protocol import SubscriberProtocol

    class QueueProtocol(SubscriberProtocol):
        def messageReceived(self, pattern, channel, message):
            print(channel, message)

These are txredisapi's own classes, re-exported; new code should prefer
`cyclone.redis.Subscriber`.
"""

from txredisapi import BaseRedisProtocol, MonitorProtocol, RedisProtocol, SubscriberProtocol

__all__ = ["BaseRedisProtocol", "MonitorProtocol", "RedisProtocol", "SubscriberProtocol"]
