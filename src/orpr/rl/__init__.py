"""Stages 3 and 4: RLOO alignment (DESIGN §7) and the expert promotion fine-tune (§8)."""
