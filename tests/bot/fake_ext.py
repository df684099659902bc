"""An extension for the loader test."""


async def setup(bot) -> None:
    bot.fake_ext_loaded = True
