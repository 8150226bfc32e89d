import txredisapi

import cyclone.redis.protocol


def test_protocol_module_reexports_txredisapi_protocols():
    assert cyclone.redis.protocol.SubscriberProtocol is txredisapi.SubscriberProtocol
    assert cyclone.redis.protocol.RedisProtocol is txredisapi.RedisProtocol
    assert cyclone.redis.protocol.MonitorProtocol is txredisapi.MonitorProtocol
