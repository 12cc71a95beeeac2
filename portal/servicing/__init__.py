"""The daily servicing run: ages accounts, judges plans and promises, queues reminders."""
