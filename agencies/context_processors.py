from django.conf import settings


def node(request):
    from agencies.selectors import this_agency_or_none

    return {"odr_node": settings.ODR_NODE, "this_agency": this_agency_or_none()}
