"""Evaluation: clinical metrics, intervals, tables and plots."""
