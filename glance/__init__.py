"""glance: the image service."""

import warnings

# eventlet announces its own deprecation on import; the servers depend on it
# by design (see DESIGN.md), so the notice is noise for operators.
warnings.filterwarnings('ignore', message=r'(?s).*Eventlet is deprecated')
