"""The Scrapy project: spiders, item pipelines (validate → detect → publish), extensions, settings."""
