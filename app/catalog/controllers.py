"""Placeholder wiring; replaced by the category pages."""

from litestar import Controller


class CategoryController(Controller):
    path = "/categories"


class AdminCategoryController(Controller):
    path = "/admin/categories"
