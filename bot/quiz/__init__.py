"""The "Who's that Pokémon?" game, with no Discord in it."""
