"""Champion and challenger: experiments as data, assignment, and their statistics."""
