"""The demo company, by what it holds (manage.py seed_demo writes it)."""
