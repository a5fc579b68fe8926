"""The whole schema in one place: importing this registers every layer's models on the
shared metadata (migrations and the test fixtures need all of them)."""

import core.models  # noqa: F401
import inbox.models  # noqa: F401
from core.db import Base

metadata = Base.metadata
