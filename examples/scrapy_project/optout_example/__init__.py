"""An example Scrapy project that collects pages for AI training while honouring opt-outs."""
