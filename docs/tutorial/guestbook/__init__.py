"""The guestbook that the cyclone tutorial builds, step by step."""
