"""Results: daily aggregates the servicing run keeps, and the staff pages that read them."""
