"""policywatch's Scrapy project: fetch targets, hand every capture to the monitor.

The crawler never decides what changed; it fetches and emits raw captures.
"""
