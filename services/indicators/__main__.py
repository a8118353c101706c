"""Start the indicators service: `python -m services.indicators`. Nothing runs at import time."""

from services.indicators.app import create_app
from services.indicators.config import IndicatorsSettings
from shared.platform.serve import serve

if __name__ == "__main__":
    serve(name="indicators", settings_cls=IndicatorsSettings, create_app=create_app)
