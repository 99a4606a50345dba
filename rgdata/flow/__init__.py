"""Parameter flows across coarse-graining levels and their fixed points."""

from .block_flow import *  # noqa: F403
from .flows import *  # noqa: F403
from .model_choice import *  # noqa: F403
from .prg_flow import *  # noqa: F403
