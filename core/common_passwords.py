"""Passwords long enough to pass the length rule that guessers try first: the ten-character
and longer entries near the top of public leaked-password rankings, and keyboard runs on
Latin and Russian layouts. Small on purpose: the length rule does most of the work; this
catches what people type when asked for "at least 10 characters". Compared lower-cased."""

from __future__ import annotations

COMMON_PASSWORDS: frozenset[str] = frozenset(
    {
        "0000000000", "0123456789", "0987654321", "1111111111", "1122334455",
        "1212121212", "1234512345", "1234554321", "1234567890", "12345678910",
        "123456789a", "123456789q", "1234567890a", "1234567890q", "123123123123",
        "123456123456", "123456654321", "123456qwerty", "123qweasdzxc", "147258369a",
        "1q2w3e4r5t", "1q2w3e4r5t6y", "1q2w3e4r5t6y7u", "1qaz2wsx3edc", "1qazxsw23edc",
        "2222222222", "5555555555", "7777777777", "8888888888", "9876543210",
        "9999999999", "a123456789", "aa12345678", "aaaaaaaaaa", "abc1234567",
        "abcd123456", "abcdefghij", "admin12345", "admin123456", "administrator",
        "asdfghjkl1", "asdfghjkl;", "baseball123", "changeme123", "computer123",
        "dragon1234", "football123", "iloveyou12", "iloveyou123", "letmein123",
        "monkey1234", "parol12345", "parol123456", "passw0rd12", "passw0rd123",
        "password01", "password12", "password123", "password1234", "password12345",
        "password!1", "password1!", "princess123", "q1w2e3r4t5", "q1w2e3r4t5y6",
        "qazwsxedcrfv", "qwe1234567", "qweasdzxc123", "qwerty1234", "qwerty12345",
        "qwerty123456", "qwertyqwerty", "qwertyuiop", "qwertyuiop123", "qwertyuiop[]",
        "sunshine123", "superman123", "trustno1234", "welcome123", "welcome1234",
        "ytrewq1234", "zaq12wsxcde", "zaq1xsw2cde3", "zxcvbnm123", "zxcvbnmasdf",
        "йцукенгшщз", "йцукенгшщзхъ", "пароль1234", "пароль12345", "фывапролдж",
    }
)  # fmt: skip
