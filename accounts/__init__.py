"""Staff accounts (agent, editor, admin), hashed passwords and expiring sessions; citizens have none."""
