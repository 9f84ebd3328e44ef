"""Clips, in both processes: intake with every refusal (web), the state machine every status change
goes through, corrections, history filters and exports, removal."""
