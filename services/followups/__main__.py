"""Start the followups service: `python -m services.followups`. Nothing runs at import time."""

from services.followups.app import create_app
from services.followups.config import FollowupsSettings
from shared.platform.serve import serve

if __name__ == "__main__":
    serve(name="followups", settings_cls=FollowupsSettings, create_app=create_app)
