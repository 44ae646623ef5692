"""Outbound webhooks: subscriptions per event type, an outbox fed by the log cursor, and a
dispatcher that signs (Standard Webhooks; DingTalk, WeCom and Feishu group robots) and
delivers, at least once and in order per departure."""
