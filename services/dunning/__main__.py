"""Start the dunning service: `python -m services.dunning`. Nothing runs at import time."""

from services.dunning.app import create_app
from services.dunning.config import DunningSettings
from shared.platform.serve import serve

if __name__ == "__main__":
    serve(name="dunning", settings_cls=DunningSettings, create_app=create_app)
