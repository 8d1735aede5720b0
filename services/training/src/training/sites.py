"""The sites of the authority, from matching's directory: nobody is registered at a site nobody
declared."""

from __future__ import annotations

from servicekit.sites import KnownSites

from training import tables as t


class UnknownSite(ValueError):
    """The site is not one matching's directory declared."""


known_sites = KnownSites(t.known_site, "training", UnknownSite)
on_site_declared = known_sites.on_site_declared
# a typo makes no phantom site: the person would vanish from the real roster
require_site = known_sites.require
