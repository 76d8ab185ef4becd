"""Turns metadata into behaviour: records, workflows, scheduler, events, HTTP API, screens."""
