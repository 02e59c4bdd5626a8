"""The composition root: the `sweep` command (and, later, the web application factory).

It is the only place that connects adapters (chosen by `adapters.open_bus` / `open_lead_store`) to
capabilities (spiders, rules, consumers, search administration) and to the tools beside the house
(services, demomall). Nothing imports it.
"""
