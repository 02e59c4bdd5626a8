"""Evidence that stands up: what a page said, and when, in a form a court and standard tools accept.

Captures every page that produced a finding (or every page) as WARC records (ISO 28500, via warcio):
the HTTP request and response, the rendered DOM of browser pages and a full-page PNG screenshot, each
payload with its SHA-256. Storage is content-addressed on the filesystem (`evidence_dir`): a WARC file
is named by its own SHA-256, a payload is stored once and a repeated unchanged capture becomes a WARC
revisit record. Each capture gets a custody manifest chained by hash to the previous manifest of the
same listing; `verify` rechecks every hash and chain, `bundle` exports what one lead or one case needs
(WARC, screenshots, manifests, a 取证说明 and the listing as text), and `retention` prunes old captures
but never those of a lead that belongs to a case.

The Scrapy glue lives in `spiders.capture`; this package knows nothing of Scrapy.
"""
