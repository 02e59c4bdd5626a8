"""sweep: crawl marketplaces, detect suspected violations, stream them, let enforcement staff search them."""

__version__ = "0.1.0"
