"""Web Push: VAPID keys, subscriptions' endpoints checked against the private network, encrypted
notifications sent to the push services, and the dispatcher that decides who gets one."""
