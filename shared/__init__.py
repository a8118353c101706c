"""What two or more services really share: event contracts, platform plumbing, money, links."""
