"""Source profiles: any POS database read into possync's canonical frames by configuration.

``model`` validates a profile (YAML), ``reader`` runs it against a POS, ``check`` reports on it for
``possync source check``; ``shipped/`` holds the profiles possync ships (``reference``: its own schema).
"""

from possync.pos.profiles.model import LoadedProfile, ProfileError, SourceProfile, load_profile
from possync.pos.profiles.reader import ProfileReader

__all__ = ["LoadedProfile", "ProfileError", "ProfileReader", "SourceProfile", "load_profile"]
