from modeltranslation.translator import TranslationOptions, register

from .models import ProblemType, Remedy


@register(ProblemType)
class ProblemTypeTranslation(TranslationOptions):
    fields = ("name",)


@register(Remedy)
class RemedyTranslation(TranslationOptions):
    fields = ("name",)
