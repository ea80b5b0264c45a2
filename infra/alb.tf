# One public HTTPS endpoint for browsers and SNS. TLS ends here; the
# services speak plain HTTP inside the VPC, reachable only from this load
# balancer's security group.
#
#   POST /archive, /restore, /thaw   → util (SNS webhooks)
#   /metrics                         → 404 (Prometheus text stays inside the VPC)
#   everything else                  → web
#   ann                              → health checks only
#
# Health checks ask every service GET /readyz, which answers 200 only while
# the service can read its job store (503 otherwise): an instance that
# serves HTTP but cannot reach its data (a missing grant, an unreachable
# table) is taken out of rotation, and its group replaces it. /healthz stays
# the process's liveness answer, for operators and local checks.

resource "aws_lb" "gas" {
  #checkov:skip=CKV_AWS_91:Access logs need a bucket that accepts the regional ELB account's writes under SSE-S3; the services log each request, and the 5xx alarms watch the load balancer's own metrics.
  #checkov:skip=CKV2_AWS_28:No WAF: the webhooks accept only SNS-signed messages, every API call needs a token or session, and a WAF's monthly fee would exceed the idle stack's compute.
  name                       = "${var.prefix}-alb"
  load_balancer_type         = "application"
  internal                   = false
  security_groups            = [aws_security_group.alb.id]
  subnets                    = var.alb_subnet_ids
  drop_invalid_header_fields = true
  # Append the client's address to X-Forwarded-For (the default, said here
  # because gas.toml's trust_forwarded_for reads the right-most entry).
  xff_header_processing_mode = "append"
  enable_deletion_protection = var.deletion_protection
  # Uploads of up to max_upload stream through; idle time is what counts.
  idle_timeout = 120
}

resource "aws_lb_target_group" "service" {
  #checkov:skip=CKV_AWS_378:TLS ends at the load balancer; targets take plain HTTP from its security group only, inside the VPC.
  for_each             = local.service_ports
  name                 = "${var.prefix}-${each.key}"
  port                 = each.value
  protocol             = "HTTP"
  vpc_id               = var.vpc_id
  target_type          = "instance"
  deregistration_delay = 30
  health_check {
    # /readyz gives up on the job store after 3 s (crates/gas/src/serve.rs),
    # inside this timeout.
    path                = "/readyz"
    matcher             = "200"
    interval            = 15
    timeout             = 5
    healthy_threshold   = 2
    unhealthy_threshold = 3
  }
}

resource "aws_lb_listener" "https" {
  load_balancer_arn = aws_lb.gas.arn
  port              = 443
  protocol          = "HTTPS"
  ssl_policy        = "ELBSecurityPolicy-TLS13-1-2-2021-06"
  certificate_arn   = var.certificate_arn
  default_action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.service["web"].arn
  }
}

resource "aws_lb_listener" "http_redirect" {
  load_balancer_arn = aws_lb.gas.arn
  port              = 80
  protocol          = "HTTP"
  default_action {
    type = "redirect"
    redirect {
      protocol    = "HTTPS"
      port        = "443"
      status_code = "HTTP_301"
    }
  }
}

# SNS posts the webhook topics here (messaging.tf subscribes them).
resource "aws_lb_listener_rule" "webhooks" {
  listener_arn = aws_lb_listener.https.arn
  priority     = 10
  condition {
    path_pattern {
      values = [for hook in local.webhooks : "/${hook}"]
    }
  }
  action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.service["util"].arn
  }
}

resource "aws_lb_listener_rule" "hide_metrics" {
  listener_arn = aws_lb_listener.https.arn
  priority     = 20
  condition {
    path_pattern {
      values = ["/metrics"]
    }
  }
  action {
    type = "fixed-response"
    fixed_response {
      content_type = "text/plain"
      message_body = "not found\n"
      status_code  = "404"
    }
  }
}

# A load balancer health-checks only target groups that a listener uses, and
# ann serves nothing to the public: this rule matches no request (no client
# connects from the loopback address) and exists so that ann's /readyz is
# checked and a failing annotator is replaced.
resource "aws_lb_listener_rule" "ann_health_checks" {
  listener_arn = aws_lb_listener.https.arn
  priority     = 30
  condition {
    source_ip {
      values = ["127.0.0.1/32"]
    }
  }
  condition {
    path_pattern {
      values = ["/readyz"]
    }
  }
  action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.service["ann"].arn
  }
}

resource "aws_route53_record" "public" {
  count   = var.route53_zone_id == "" ? 0 : 1
  zone_id = var.route53_zone_id
  name    = var.domain_name
  type    = "A"
  alias {
    name                   = aws_lb.gas.dns_name
    zone_id                = aws_lb.gas.zone_id
    evaluate_target_health = true
  }
}
