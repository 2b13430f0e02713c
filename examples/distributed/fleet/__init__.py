"""A scrapy-redis project with scrapy_optout's add-on: many workers, one queue, one opt-out cache."""
