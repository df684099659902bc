"""Extensions (cogs) loaded by ``Neuralmon.setup_hook``: thin translations of Discord events into
calls to plain modules."""
