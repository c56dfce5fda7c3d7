"""Every write to Vouch's data, one module per domain, named <entity>_<action>."""
