"""The index package's errors.

RetrievalError
├── StaleIndex          the index on disk was built for another knowledge base or model
├── EmbeddingModelMissing  the converted embedding model is not where settings say
└── BadQuery            a search argument is out of range (the HTTP layer answers 422)
"""


class RetrievalError(Exception):
    """Base of every error raised by ``index``."""


class StaleIndex(RetrievalError):
    pass


class EmbeddingModelMissing(RetrievalError):
    pass


class BadQuery(RetrievalError):
    pass
