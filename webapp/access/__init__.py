"""Who may use the panel and what they may do: sessions, sign-in throttling, CSRF tokens,
the role permission matrix and the guard every panel route passes through."""
