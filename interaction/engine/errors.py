"""What the engine raises: calls it cannot answer, definitions it cannot use."""


class EngineError(Exception):
    """A call the engine cannot answer."""


class UnknownSpace(EngineError):
    """The call names no live space."""


class SpaceNotRealTime(EngineError):
    """A real-time call to a space that only takes batch runs."""


class InvalidDefinition(ValueError):
    """A condition or formula that cannot be used; the message is for the editor."""


class ConditionError(InvalidDefinition):
    pass


class FormulaError(InvalidDefinition):
    pass
