"""Scrapy commands of the sweep project (`COMMANDS_MODULE`); a module named after a built-in command
replaces it for this project."""
