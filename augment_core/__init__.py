"""augment_core: the library behind the augmentation studio and the `augment` CLI.

Never imports streamlit: pages call into this package, nothing flows back up.
"""

__version__ = "0.1.0"
