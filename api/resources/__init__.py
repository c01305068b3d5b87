"""Thin resources: parse, call one service method, set the answer."""
