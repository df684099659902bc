from bot.ratelimit import RateLimiter


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_limit_per_key_and_window_slides():
    clock = Clock()
    limiter = RateLimiter(2, 10, clock)
    for _ in range(2):
        assert limiter.allowed("ann")
        limiter.hit("ann")
    assert not limiter.allowed("ann")
    assert limiter.allowed("bob")  # keys are independent
    assert limiter.retry_after("ann") == 10
    clock.now += 10.5
    assert limiter.allowed("ann") and limiter.retry_after("ann") == 0


def test_idle_keys_are_forgotten():
    clock = Clock()
    limiter = RateLimiter(1, 5, clock)
    for user in range(RateLimiter.SWEEP_AT):
        limiter.hit(user)
    clock.now += 6
    limiter.hit("newcomer")  # one more key: the idle ones are swept out
    assert list(limiter._events) == ["newcomer"]
