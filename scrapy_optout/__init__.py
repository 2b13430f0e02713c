"""scrapy_optout: honour AI-training and TDM opt-outs in Scrapy and httpx."""

__version__ = "0.1.0"
