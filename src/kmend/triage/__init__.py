"""Triage: scan logs for crashes and fold duplicates across hosts and builds."""
