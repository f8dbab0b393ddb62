"""Seeded Vietnamese personal names for demo and synthetic data."""

from __future__ import annotations

import random

FAMILY = (
    "Nguyễn Nguyễn Nguyễn Trần Trần Lê Lê Phạm Hoàng Huỳnh Phan Vũ Võ Đặng Bùi Đỗ Hồ Ngô "
    "Dương Lý Đinh Trịnh Đoàn Lương Tạ Mai Cao Chu Hà Kiều"
).split()
MIDDLE_MALE = "Văn Văn Đức Minh Quang Hữu Thành Xuân Công Mạnh Tuấn Anh Đình".split()
MIDDLE_FEMALE = "Thị Thị Thị Ngọc Thu Thanh Minh Phương Thúy Bích Hồng Kim".split()
GIVEN_MALE = (
    "An Anh Bảo Bình Cường Dũng Dương Đạt Đức Giang Hải Hiếu Hoàng Hùng Huy Khánh Khoa Kiên "
    "Long Lâm Mạnh Minh Nam Nghĩa Phong Phúc Quân Quang Sơn Tài Thắng Thành Toàn Trung Tú Tuấn "
    "Việt Vinh"
).split()
GIVEN_FEMALE = (
    "An Anh Ánh Bích Châu Chi Dung Duyên Giang Hà Hạnh Hằng Hiền Hoa Hồng Hương Huyền Lan Liên "
    "Linh Loan Mai My Nga Ngân Ngọc Nhung Oanh Phương Quỳnh Thảo Thơ Thu Thủy Trang Trâm Uyên "
    "Vân Yến"
).split()


def full_name(rng: random.Random) -> str:
    """Family + middle + given name, NFC (the literals above are NFC)."""
    if rng.random() < 0.5:
        return f"{rng.choice(FAMILY)} {rng.choice(MIDDLE_MALE)} {rng.choice(GIVEN_MALE)}"
    return f"{rng.choice(FAMILY)} {rng.choice(MIDDLE_FEMALE)} {rng.choice(GIVEN_FEMALE)}"
