"""A scrapy-playwright project with scrapy_optout's add-on."""
