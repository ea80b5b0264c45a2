# Security groups. The network itself (VPC, subnets, NAT) is the account's:
# see the variables and docs/DEPLOY.md.
#
#   internet ──443/80──► alb ──8080──► web
#                            ──8081──► util
#                            ──8082──► ann (health checks only)
#   instances ──443──► AWS APIs, the release bucket, package repositories

resource "aws_security_group" "alb" {
  name        = "${var.prefix}-alb"
  description = "GAS load balancer: HTTPS (and HTTP, redirected) from anywhere"
  vpc_id      = var.vpc_id
}

resource "aws_vpc_security_group_ingress_rule" "alb_https" {
  security_group_id = aws_security_group.alb.id
  description       = "HTTPS from browsers and SNS"
  cidr_ipv4         = "0.0.0.0/0"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
}

resource "aws_vpc_security_group_ingress_rule" "alb_http" {
  #checkov:skip=CKV_AWS_260:Port 80 only answers a redirect to HTTPS (alb.tf); nothing is served over plain HTTP.
  security_group_id = aws_security_group.alb.id
  description       = "HTTP, redirected to HTTPS"
  cidr_ipv4         = "0.0.0.0/0"
  ip_protocol       = "tcp"
  from_port         = 80
  to_port           = 80
}

resource "aws_vpc_security_group_egress_rule" "alb_to_service" {
  for_each                     = local.service_ports
  security_group_id            = aws_security_group.alb.id
  description                  = "Requests and health checks to ${each.key}"
  referenced_security_group_id = aws_security_group.service[each.key].id
  ip_protocol                  = "tcp"
  from_port                    = each.value
  to_port                      = each.value
}

resource "aws_security_group" "service" {
  #checkov:skip=CKV2_AWS_5:Each group is attached to its service's launch template network interface (asg.tf) and to the load balancer's egress rules; checkov links only one instance of a for_each resource.
  for_each    = local.service_ports
  name        = "${var.prefix}-${each.key}"
  description = "GAS ${each.key} instances: their port from the load balancer only"
  vpc_id      = var.vpc_id
}

resource "aws_vpc_security_group_ingress_rule" "service_from_alb" {
  for_each                     = local.service_ports
  security_group_id            = aws_security_group.service[each.key].id
  description                  = "Requests and health checks from the load balancer"
  referenced_security_group_id = aws_security_group.alb.id
  ip_protocol                  = "tcp"
  from_port                    = each.value
  to_port                      = each.value
}

# HTTPS out only: every AWS API, S3 (the release binary, the data), the
# package repositories and SNS certificate downloads are HTTPS. DNS, NTP and
# instance metadata go to VPC addresses that security groups do not filter.
resource "aws_vpc_security_group_egress_rule" "service_https" {
  for_each          = local.service_ports
  security_group_id = aws_security_group.service[each.key].id
  description       = "HTTPS to AWS APIs and package repositories"
  cidr_ipv4         = "0.0.0.0/0"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
}
