# A filled-in example (docs/DEPLOY.md explains each variable). Copy it to
# terraform.tfvars and change every value: these identifiers do not exist.
# tests/infra renders the user data and the configuration with these values.

# Bucket names are global: a prefix of your own (no default; "gas" and the
# like are refused).
prefix          = "acme-gas-prod"
region          = "us-east-1"
domain_name     = "gas.example.org"
certificate_arn = "arn:aws:acm:us-east-1:111122223333:certificate/00000000-0000-0000-0000-000000000000"
route53_zone_id = "Z0000000000000000000"

vpc_id              = "vpc-0123456789abcdef0"
alb_subnet_ids      = ["subnet-0aaaaaaaaaaaaaaa1", "subnet-0aaaaaaaaaaaaaaa2"]
instance_subnet_ids = ["subnet-0bbbbbbbbbbbbbbb1", "subnet-0bbbbbbbbbbbbbbb2"]

release_bucket = "example-gas-releases"
release_key    = "releases/1.0.0/gas-aarch64-linux"
release_sha256 = "0000000000000000000000000000000000000000000000000000000000000000"

email_from   = "GAS <noreply@example.org>"
ses_identity = "example.org"
alarm_email  = "operators@example.org"
