"""neuralmon's Discord bot: image classification and the "Who's that Pokémon?" quiz."""
