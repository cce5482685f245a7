from modeltranslation.translator import TranslationOptions, register

from .models import Agency, Category, Country, DomesticBody, PublicHoliday


@register(Country)
class CountryTranslation(TranslationOptions):
    fields = ("name",)


@register(PublicHoliday)
class PublicHolidayTranslation(TranslationOptions):
    fields = ("name",)


@register(Agency)
class AgencyTranslation(TranslationOptions):
    fields = ("name",)


@register(Category)
class CategoryTranslation(TranslationOptions):
    fields = ("name",)


@register(DomesticBody)
class DomesticBodyTranslation(TranslationOptions):
    fields = ("name",)
