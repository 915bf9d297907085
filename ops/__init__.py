"""Operations: health checks for load balancers, backup and restore, request ids and logs."""
